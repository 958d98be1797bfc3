/* Helpers the experiment subcommands share: the picture shape of an input. */
#include "experiment_cli.h"

#include <math.h>

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
