/* The `trainer` program: picks the subcommand and hands it the rest of the command line. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv, int first);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"train", command_train, "train a network (the default when no subcommand is given)"},
    {"eval", command_eval, "evaluate a saved model on a test set"},
    {"predict", command_predict, "classify PNG images with a saved model"},
    {"info", command_info, "CPU features, kernel variants, topology, thread binding"},
    {"plot", command_plot, "draw the learning curves of saved runs (curves.png)"},
    {"sweep", command_sweep, "train several layer sizes on the same split; table and figure"},
    {"binary", command_binary, "the \"is this a 3?\" models: normal, lbfgs, gd, neuron"},
    {"weights", command_weights, "draw a model's first-layer weights as heatmaps"},
    {"export", command_export, "write a model as ONNX, safetensors or NumPy .npz"},
    {"import", command_import, "read a safetensors or .npz MLP into a model file"},
    {"augment", command_augment, "draw training images and their --augment transforms (PNG grid)"},
};

static void print_usage(void) {
    printf("usage: trainer [SUBCOMMAND] [options]   (trainer SUBCOMMAND --help for its options)\n\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        printf("  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    printf("\nWith no subcommand, trains: trainer --help lists the training options.\n");
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        print_usage();
        return 0;
    }
    if (argc >= 2 && argv[1][0] != '-') {
        for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
            if (strcmp(argv[1], subcommands[i].name) == 0) return subcommands[i].run(argc, argv, 2);
        fprintf(stderr, "trainer: error: unknown subcommand '%s' (see trainer help)\n", argv[1]);
        return 2;
    }
    return command_train(argc, argv, 1);
}
