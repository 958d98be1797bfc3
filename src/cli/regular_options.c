/* --dropout and --augment (see regular_options.h). */
#include "regular_options.h"

#include <string.h>

#include "mlp/augment.h"
#include "mlp/dropout.h"

void regular_options_describe(regular_options *regular, cli_option *options) {
    options[0] = (cli_option){.name = "--dropout", .type = CLI_STRING, .target = &regular->dropout,
                              .value_name = "P[,P2...]",
                              .help = "inverted dropout on the hidden layers while training: one p in [0, 1) "
                                      "for all, or one per hidden layer (off at evaluation)"};
    options[1] = (cli_option){.name = "--augment", .type = CLI_STRING, .target = &regular->augment,
                              .value_name = "SPEC",
                              .help = "transform training images on the fly, e.g. shift=2,rotate=10,scale=0.1,"
                                      "elastic=34:4 (pixels, degrees, fraction, alpha:sigma; any subset)"};
}

int regular_options_parse(const regular_options *regular, mlp_recipe *recipe, int *dropout_values,
                          mlp_error *error) {
    *dropout_values = 0;
    memset(&recipe->dropout, 0, sizeof recipe->dropout);
    memset(&recipe->augment, 0, sizeof recipe->augment);
    if (regular->dropout && mlp_dropout_parse(regular->dropout, &recipe->dropout, dropout_values, error) != 0)
        return -1;
    if (regular->augment && mlp_augment_parse(regular->augment, &recipe->augment, error) != 0) return -1;
    return 0;
}

int regular_options_check_layers(const regular_options *regular, const mlp_recipe *recipe, int dropout_values,
                                 int hidden_layers, const char *layers, mlp_error *error) {
    if (dropout_values > 1 && dropout_values > hidden_layers)
        return mlp_error_set(error, "--dropout %s: %d values but %s has %d hidden layer%s", regular->dropout,
                         dropout_values, layers, hidden_layers, hidden_layers == 1 ? "" : "s");
    if (hidden_layers == 0 && mlp_dropout_active(&recipe->dropout, MLP_MAX_LAYERS))
        return mlp_error_set(error, "--dropout %s: %s has no hidden layer", regular->dropout, layers);
    return 0;
}
