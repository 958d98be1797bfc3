/* `trainer import`: a safetensors or NumPy .npz MLP as a model.mlp (include/mlp/interop.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "mlp/model.h"
#ifdef MLP_HAVE_INTEROP
#include "mlp/interop.h"
#endif

/* --format when not given: from the file name's extension. */
static const char *format_from_name(const char *path) {
    size_t n = strlen(path);
    if (n > 12 && strcmp(path + n - 12, ".safetensors") == 0) return "safetensors";
    if (n > 4 && strcmp(path + n - 4, ".npz") == 0) return "npz";
    return NULL;
}

int command_import(int argc, char **argv, int first) {
    const char *format_text = NULL, *out = NULL, *activation_text = NULL, *output_text = NULL;
    cli_string_list files = {0};
    cli_option options[] = {
        {.name = "--format", .type = CLI_CHOICE, .target = &format_text, .choices = "safetensors|npz",
         .help = "the file's format (default: from its extension, .safetensors or .npz)"},
        {.name = "--out", .type = CLI_STRING, .target = &out, .value_name = "FILE", .help = "the model file to write (model.mlp)"},
        {.name = "--activation", .type = CLI_CHOICE, .target = &activation_text, .choices = "relu|sigmoid|tanh",
         .help = "the hidden layers' activation: required for npz and for safetensors without __metadata__"},
        {.name = "--output", .type = CLI_CHOICE, .target = &output_text, .choices = "softmax|sigmoid",
         .help = "the output layer (default: the file's __metadata__, else softmax)"},
    };
    cli_command command = {"trainer import [--format safetensors|npz] FILE [--activation A] --out model.mlp",
                           "Reads an MLP written by trainer export, PyTorch (safetensors, layers.L.weight [out, in],\n"
                           "layers.L.bias) or numpy.savez (W0 [in, out], b0, W1, ...) and saves it as a model file\n"
                           "that train --init-model, eval, predict and export use like a trained one. Layer sizes come\n"
                           "from the tensors; anything else than float32 weights and biases of matching sizes is refused.",
                           options, (int)(sizeof options / sizeof options[0]), &files};
    cli_parse_or_exit(&command, argc, argv, first);
    mlp_error error;
    if (files.count != 1) {
        mlp_error_set(&error, files.count ? "one FILE to import, not %d" : "no FILE to import (see --help)", files.count);
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    const char *path = files.values[0];
    if (!out) {
        mlp_error_set(&error, "--out FILE is required (the model file to write)");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (!format_text) format_text = format_from_name(path);
    if (!format_text) {
        mlp_error_set(&error, "%s: give --format safetensors or npz (the name ends in neither)", path);
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (strcmp(format_text, "npz") == 0 && !activation_text) {
        mlp_error_set(&error, "%s: --activation relu|sigmoid|tanh is required for npz (the file does not record it)", path);
        cli_fail(CLI_EXIT_USAGE, &error);
    }
#ifndef MLP_HAVE_INTEROP
    mlp_error_set(&error, "import: this trainer was built without interop (-DMLP_WITH_INTEROP=OFF: protobuf-c, cJSON, libzip)");
    cli_fail(CLI_EXIT_RUNTIME, &error);
    return CLI_EXIT_RUNTIME;
#else
    mlp_interop_format format;
    mlp_interop_parse_format(format_text, &format);
    mlp_interop_import_options import = {.activation = MLP_ACTIVATION_NONE, .output = -1};
    if (activation_text && mlp_model_parse_activation(activation_text, &import.activation, &error) != 0)
        cli_fail(CLI_EXIT_USAGE, &error);
    if (output_text) import.output = strcmp(output_text, "sigmoid") == 0 ? MLP_OUTPUT_SIGMOID : MLP_OUTPUT_SOFTMAX;
    mlp_model model;
    if (mlp_interop_load(&model, format, path, &import, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    if (mlp_model_save(&model, out, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    printf("imported %s (%s): layers ", path, format_text);
    for (int i = 0; i <= model.layer_count; i++) printf(i ? ",%d" : "%d", model.sizes[i]);
    size_t parameters = 0;
    for (int l = 0; l < model.layer_count; l++)
        parameters += (size_t)model.sizes[l] * model.sizes[l + 1] + (size_t)model.sizes[l + 1];
    printf(", %s, %s output, %zu parameters; wrote %s\n", mlp_model_activation_name(model.hidden_activation),
           model.output == MLP_OUTPUT_SIGMOID ? "sigmoid" : "softmax", parameters, out);
    mlp_model_free(&model);
    return 0;
#endif
}
