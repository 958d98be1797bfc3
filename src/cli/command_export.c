/* `trainer export`: a saved model as ONNX, safetensors or NumPy .npz (include/mlp/interop.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "mlp/model.h"
#ifdef MLP_HAVE_INTEROP
#include "mlp/interop.h"
#endif

int command_export(int argc, char **argv, int first) {
    const char *model_path = NULL, *format_text = NULL, *out = NULL, *input = "float";
    cli_option options[] = {
        {.name = "--model", .type = CLI_STRING, .target = &model_path, .value_name = "FILE", .help = "the model to export (model.mlp)"},
        {.name = "--format", .type = CLI_CHOICE, .target = &format_text, .choices = "onnx|safetensors|npz",
         .help = "onnx (Gemm per layer, Softmax; runs in OpenCV DNN), safetensors (PyTorch nn.Linear "
                 "layers.L.weight [out, in]), npz (NumPy W0 [in, out], b0, ...)"},
        {.name = "--out", .type = CLI_STRING, .target = &out, .value_name = "FILE", .help = "the file to write (atomically)"},
        {.name = "--input", .type = CLI_CHOICE, .target = &input, .choices = "float|uint8",
         .help = "onnx only: the graph's input 'pixels', float32 scaled to 0..1 or uint8 0..255 (Cast + Mul by 1/255 in the graph)"},
    };
    cli_command command = {"trainer export --model FILE --format onnx|safetensors|npz --out FILE [--input float|uint8]",
                           "Writes a saved model in another framework's format. ONNX: input 'pixels' [N, inputs],\n"
                           "output 'probabilities' [N, classes], IR version 8, opset 13. safetensors: float32\n"
                           "layers.L.weight [out, in] and layers.L.bias, layer sizes and activation in __metadata__.\n"
                           "npz: float32 W0 [in, out], b0, W1, ... (the activation is not recorded).",
                           options, (int)(sizeof options / sizeof options[0]), NULL};
    cli_parse_or_exit(&command, argc, argv, first);
    mlp_error error;
    if (!model_path || !format_text || !out) {
        mlp_error_set(&error, "%s is required (see --help)", !model_path ? "--model FILE" : !format_text ? "--format" : "--out FILE");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (strcmp(input, "float") != 0 && strcmp(format_text, "onnx") != 0) {
        mlp_error_set(&error, "--input %s applies to --format onnx only", input);
        cli_fail(CLI_EXIT_USAGE, &error);
    }
#ifndef MLP_HAVE_INTEROP
    mlp_error_set(&error, "export: this trainer was built without interop (-DMLP_WITH_INTEROP=OFF: protobuf-c, cJSON, libzip)");
    cli_fail(CLI_EXIT_RUNTIME, &error);
    return CLI_EXIT_RUNTIME;
#else
    mlp_interop_format format;
    mlp_interop_parse_format(format_text, &format); /* the choice list allows only known names */
    mlp_interop_onnx_input onnx_input = strcmp(input, "uint8") == 0 ? MLP_INTEROP_ONNX_INPUT_UINT8 : MLP_INTEROP_ONNX_INPUT_FLOAT;
    mlp_model model;
    if (mlp_model_load(&model, model_path, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    if (mlp_interop_save(&model, format, onnx_input, out, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    printf("wrote %s: %s", out, format_text);
    if (format == MLP_INTEROP_ONNX) printf(" (input %s)", onnx_input == MLP_INTEROP_ONNX_INPUT_UINT8 ? "uint8 0..255" : "float32 0..1");
    printf(", layers ");
    for (int i = 0; i <= model.layer_count; i++) printf(i ? ",%d" : "%d", model.sizes[i]);
    printf(", %s, %s output\n", mlp_model_activation_name(model.hidden_activation),
           model.output == MLP_OUTPUT_SIGMOID ? "sigmoid" : "softmax");
    mlp_model_free(&model);
    return 0;
#endif
}
