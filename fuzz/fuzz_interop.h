/* The check the interop readers' fuzz targets share: a model a reader accepted must serialise and
 * parse back to the same parameters, bit for bit. */
#ifndef MLP_FUZZ_INTEROP_H
#define MLP_FUZZ_INTEROP_H

#include <string.h>

#include "fuzz_target.h"
#include "mlp/interop.h"

typedef int (*fuzz_interop_serialize)(const mlp_model *model, uint8_t **bytes, size_t *size,
                                      mlp_error *error);
typedef int (*fuzz_interop_deserialize)(mlp_model *model, const uint8_t *bytes, size_t size,
                                        const char *name, const mlp_interop_import_options *options,
                                        mlp_error *error);

/* Aborts unless model serialises and parses back to the same parameters; frees model. */
static inline void fuzz_interop_round_trip(mlp_model *model, fuzz_interop_serialize serialize,
                                           fuzz_interop_deserialize deserialize,
                                           const mlp_interop_import_options *options) {
    mlp_model again;
    mlp_error error;
    uint8_t *bytes;
    size_t length;
    if (serialize(model, &bytes, &length, &error) != 0) abort();
    if (deserialize(&again, bytes, length, "again", options, &error) != 0) abort();
    if (again.parameter_count != model->parameter_count ||
        memcmp(again.parameters, model->parameters, model->parameter_count * sizeof(float)) != 0)
        abort(); /* not a faithful round trip */
    free(bytes);
    mlp_model_free(&again);
    mlp_model_free(model);
}

#endif
