/* The trainer's subcommands; each parses its own options from argv[first..] and returns the
 * process exit code (usage errors exit 2 and runtime errors 1 from inside). */
#ifndef MLP_COMMANDS_H
#define MLP_COMMANDS_H

int command_train(int argc, char **argv, int first);
int command_eval(int argc, char **argv, int first);
int command_predict(int argc, char **argv, int first);
int command_info(int argc, char **argv, int first);
/* The study's experiments (src/command_plot.c, command_sweep.c, command_binary.c,
 * command_weights.c). */
int command_plot(int argc, char **argv, int first);
int command_sweep(int argc, char **argv, int first);
int command_binary(int argc, char **argv, int first);
int command_weights(int argc, char **argv, int first);
/* Models in other formats (src/cli/command_export.c, command_import.c; include/mlp/interop.h). */
int command_export(int argc, char **argv, int first);
int command_import(int argc, char **argv, int first);
/* Dropout and augmentation (src/command_augment.c): a figure of augmented training images. */
int command_augment(int argc, char **argv, int first);

#endif
