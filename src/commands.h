/* The trainer's subcommands; each parses its own options from argv[first..] and returns the
 * process exit code (usage errors exit 2 and runtime errors 1 from inside). */
#ifndef MLP_COMMANDS_H
#define MLP_COMMANDS_H

int command_train(int argc, char **argv, int first);
int command_eval(int argc, char **argv, int first);
int command_predict(int argc, char **argv, int first);
int command_info(int argc, char **argv, int first);

#endif
