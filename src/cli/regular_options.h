/* --dropout and --augment, shared by train and sweep (include/mlp/dropout.h, augment.h). */
#ifndef MLP_REGULAR_OPTIONS_H
#define MLP_REGULAR_OPTIONS_H

#include "cli.h"
#include "mlp/recipe.h"

typedef struct regular_options {
    const char *dropout; /* "P" or "P1,P2,..." (NULL: none) */
    const char *augment; /* "shift=2,rotate=10,..." (NULL: none) */
} regular_options;

#define REGULAR_OPTION_COUNT 2
/* Fills entries [0, REGULAR_OPTION_COUNT) of options. */
void regular_options_describe(regular_options *regular, cli_option *options);
/* Parses the two specs into recipe->dropout and recipe->augment; *dropout_values: how many
 * values --dropout gave (0 without it). A bad spec: a one-line usage error. */
int regular_options_parse(const regular_options *regular, mlp_recipe *recipe, int *dropout_values,
                          mlp_error *error);
/* A list of dropout values must not be longer than the network's hidden layers (one value
 * applies to all of them). `layers` names the network in the message. */
int regular_options_check_layers(const regular_options *regular, const mlp_recipe *recipe,
                                 int dropout_values, int hidden_layers, const char *layers,
                                 mlp_error *error);

#endif
