/* Helpers the experiment subcommands share: the output folder, the picture shape of an input. */
#define _POSIX_C_SOURCE 200809L /* localtime_r */
#include "experiment_cli.h"

#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "mlp/file_util.h"

int experiment_output_folder(const char *out, char *path, size_t size, mlp_error *error) {
    if (out) {
        snprintf(path, size, "%s", out);
        return file_make_directories(path, error);
    }
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    if (file_make_directories("runs", error) != 0) return -1;
    for (int attempt = 1; attempt < 1000; attempt++) {
        if (attempt == 1) snprintf(path, size, "runs/%s", stamp);
        else snprintf(path, size, "runs/%s-%d", stamp, attempt);
        if (mkdir(path, 0755) == 0) return 0;
    }
    return error_set(error, "runs/: cannot create a fresh run folder");
}

void experiment_image_shape(int features, int *rows, int *cols) {
    int side = (int)lround(sqrt((double)features));
    if (side * side == features) {
        *rows = side;
        *cols = side;
    } else {
        *rows = 1;
        *cols = features;
    }
}
