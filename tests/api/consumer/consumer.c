/* Creates, trains (on 100 made-up images), predicts, saves and loads a model through the
 * installed library; prints one line. */
#include <mlptrain/mlptrain.h>
#include <stdio.h>

int main(void) {
    static uint8_t pixels[100 * 64], labels[100];
    for (int i = 0; i < 100 * 64; i++) pixels[i] = (uint8_t)(i * 37);
    for (int i = 0; i < 100; i++) labels[i] = (uint8_t)(i % 10);
    mlp_images images = {pixels, MLP_PIXELS_U8, 100, 64};
    char message[MLP_MESSAGE_SIZE];
    mlp_net *net, *loaded;
    int sizes[] = {64, 8, 10};
    mlp_train_recipe recipe;
    mlp_train_recipe_init(&recipe);
    recipe.epochs = 2;
    float p[10];
    if (mlp_net_create(&net, sizes, 3, "tanh", message) != MLP_OK) return puts(message), 1;
    if (mlp_net_train(net, &images, labels, &recipe, NULL, NULL) != MLP_OK || mlp_net_save(net, "m.mlp") != MLP_OK)
        return puts(mlp_net_error(net)), 1;
    if (mlp_net_load(&loaded, "m.mlp", message) != MLP_OK) return puts(message), 1;
    mlp_images one = {pixels, MLP_PIXELS_U8, 1, 64};
    if (mlp_net_predict_proba(loaded, &one, p, 1) != MLP_OK) return puts(mlp_net_error(loaded)), 1;
    printf("mlptrain %s, %zu parameters, p(0) = %.3f\n", mlp_version(), mlp_net_parameter_count(loaded), p[0]);
    mlp_net_free(net);
    mlp_net_free(loaded);
    return 0;
}
