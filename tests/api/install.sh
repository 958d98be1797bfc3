#!/bin/sh
# The installed package, used from outside the source tree:
#   - cmake --install into a fresh prefix: libmlptrain.so (+ soname link), libmlptrain.a,
#     include/mlptrain/mlptrain.h, pkg-config and CMake package files, bin/trainer, bin/bench;
#   - the shared library exports mlp_* and nothing else;
#   - examples/train_mnist.c compiled with `cc $(pkg-config --cflags --libs mlptrain)` in a
#     folder outside the tree, run on 2,000 MNIST images (and statically, with --static);
#   - tests/api/consumer, a CMake project using find_package(mlptrain), shared and static;
#   - the installed trainer's data search: MLP_DATA empty or wrong and no tree to fall back on
#     exit 1 naming the places and scripts/fetch_data.sh; MLP_DATA pointing at MNIST trains.
#   install.sh BUILD_DIR SOURCE_DIR DATA_DIR
set -eu
build=$(cd "$1" && pwd) source=$(cd "$2" && pwd)
data=$(cd "$3" 2>/dev/null && pwd || echo "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
libdir=$(dirname "$(find "$prefix" -name mlptrain.pc)")/..
libdir=$(cd "$libdir" && pwd)
for file in include/mlptrain/mlptrain.h bin/trainer; do
    [ -f "$prefix/$file" ] || fail "$file not installed"
done
[ -f "$libdir/libmlptrain.a" ] || fail "libmlptrain.a not installed"
soname=$(readelf -d "$libdir/libmlptrain.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ -n "$soname" ] && [ -e "$libdir/$soname" ] || fail "no soname link ($soname)"
echo "ok: installed into $prefix ($soname)"
others=$(nm -D --defined-only "$libdir/libmlptrain.so" | awk '$2 != "A" && $3 !~ /^mlp_/ {print $3}')
[ -z "$others" ] || fail "libmlptrain.so exports more than mlp_*: $others"
echo "ok: only mlp_* exported ($(nm -D --defined-only "$libdir/libmlptrain.so" | grep -c ' T mlp_') functions)"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
mkdir "$work/example"
cp "$source/examples/train_mnist.c" "$work/example/"
cd "$work/example"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o train_mnist train_mnist.c $(pkg-config --cflags --libs mlptrain) \
    -Wl,-rpath,"$libdir" || fail "the example does not build against the installed package"
# libmlptrain.a with its dependencies' shared libraries (`pkg-config --static` would also ask for
# hwloc's own private dependencies, e.g. -ludev, which need their -dev packages).
# shellcheck disable=SC2046
cc -std=c11 -o train_mnist_static train_mnist.c $(pkg-config --cflags mlptrain) "$libdir/libmlptrain.a" \
    $(pkg-config --print-requires-private mlptrain | xargs pkg-config --libs) -fopenmp -lpthread -lm \
    || fail "the example does not link statically"
echo "ok: examples/train_mnist.c built with pkg-config (shared and static)"

have_data=0
if [ -f "$data/train-images-idx3-ubyte" ] || [ -f "$data/train-images-idx3-ubyte.gz" ]; then have_data=1; fi
if [ $have_data = 1 ]; then
    ./train_mnist "$data" 2000 1 model.mlp >out.txt || { cat out.txt; fail "train_mnist"; }
    grep -q "test accuracy" out.txt || fail "train_mnist printed no accuracy"
    ./train_mnist_static "$data" 2000 1 static.mlp >/dev/null || fail "train_mnist (static)"
    cmp model.mlp static.mlp || fail "static and shared builds trained different models"
    echo "ok: train_mnist: $(tail -1 out.txt)"
fi

# find_package(mlptrain), out of the tree.
cp -r "$source/tests/api/consumer" "$work/consumer"
for kind in shared static; do
    cmake -S "$work/consumer" -B "$work/consumer-$kind" -DCMAKE_PREFIX_PATH="$prefix" -DCONSUMER_LINK="$kind" \
        >"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; fail "find_package(mlptrain) ($kind)"; }
    cmake --build "$work/consumer-$kind" >"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; fail "consumer build ($kind)"; }
    "$work/consumer-$kind/consumer" >"$work/consumer.out" || { cat "$work/consumer.out"; fail "consumer run ($kind)"; }
    echo "ok: CMake consumer ($kind): $(cat "$work/consumer.out")"
done

# The installed trainer has no source tree to fall back on.
cd "$work"
status=0
MLP_DATA= "$prefix/bin/trainer" --epochs 1 --out "$work/run-a" 2>err.txt >/dev/null || status=$?
[ $status = 1 ] || fail "no data: exit $status, expected 1"
grep -q "MLP_DATA not set" err.txt && grep -q "scripts/fetch_data.sh" err.txt || fail "no data: $(cat err.txt)"
[ "$(wc -l <err.txt)" = 1 ] || fail "no data: more than one line: $(cat err.txt)"
status=0
MLP_DATA="$work/nowhere" "$prefix/bin/trainer" --epochs 1 --out "$work/run-b" 2>err.txt >/dev/null || status=$?
[ $status = 1 ] && grep -q "MLP_DATA=$work/nowhere" err.txt && grep -q "fetch_data.sh" err.txt \
    || fail "MLP_DATA elsewhere: exit $status: $(cat err.txt)"
status=0
"$prefix/bin/trainer" --data "$work/nowhere" --epochs 1 --out "$work/run-c" 2>err.txt >/dev/null || status=$?
[ $status = 1 ] && grep -q "$work/nowhere: no MNIST" err.txt || fail "--data elsewhere: exit $status: $(cat err.txt)"
echo "ok: the installed trainer without data: exit 1, $(cat err.txt)"
if [ $have_data = 1 ]; then
    MLP_DATA=$data "$prefix/bin/trainer" --train-limit 500 --epochs 1 --layers 784,16,10 --out "$work/run-d" >/dev/null \
        || fail "MLP_DATA=$data: the installed trainer did not train"
    [ -f "$work/run-d/model.mlp" ] || fail "MLP_DATA=$data: no model.mlp"
    echo "ok: MLP_DATA=$data: the installed trainer trains"
fi
