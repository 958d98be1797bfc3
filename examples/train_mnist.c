/* Trains 784,128,64,10 on MNIST through the installed library and reports the test accuracy.
 *
 *   cc train_mnist.c $(pkg-config --cflags --libs mlptrain) -o train_mnist
 *   ./train_mnist DATA_DIR [TRAIN_IMAGES [EPOCHS [MODEL_OUT]]]      (0 images: all 60,000) */
#include <mlptrain/mlptrain.h>
#include <stdio.h>
#include <stdlib.h>

static int report(void *user, const mlp_epoch_report *r) {
    (void)user;
    printf("epoch %d/%d  train cost %.4f  validation cost %.4f  accuracy %.2f%%  %.0f images/s\n", r->epoch,
           r->epochs, r->train_cost, r->validation_cost, 100 * r->validation_accuracy, r->samples_per_second);
    return 0; /* non-zero would stop training here */
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR [TRAIN_IMAGES [EPOCHS [MODEL_OUT]]]\n", argv[0]);
        return 2;
    }
    char message[MLP_MESSAGE_SIZE];
    mlp_images train, test;
    uint8_t *train_labels, *test_labels;
    int limit = argc > 2 ? atoi(argv[2]) : 0;
    if (mlp_idx_load(argv[1], "train", limit, &train, &train_labels, message) != MLP_OK ||
        mlp_idx_load(argv[1], "t10k", 0, &test, &test_labels, message) != MLP_OK) {
        fprintf(stderr, "train_mnist: %s\n", message);
        return 1;
    }
    mlp_net *net;
    int sizes[] = {784, 128, 64, 10};
    if (mlp_net_create(&net, sizes, 4, "relu", message) != MLP_OK) {
        fprintf(stderr, "train_mnist: %s\n", message);
        return 1;
    }
    mlp_train_recipe recipe;
    mlp_train_recipe_init(&recipe); /* batch 64, lr 0.1, seed 42, 20% validation: the trainer's */
    recipe.epochs = argc > 3 ? atoi(argv[3]) : 3;
    int *predicted = malloc(sizeof *predicted * (size_t)test.count), correct = 0;
    if (!predicted || mlp_net_train(net, &train, train_labels, &recipe, report, NULL) != MLP_OK ||
        mlp_net_predict(net, &test, predicted, 0) != MLP_OK ||
        (argc > 4 && mlp_net_save(net, argv[4]) != MLP_OK)) {
        fprintf(stderr, "train_mnist: %s\n", predicted ? mlp_net_error(net) : "out of memory");
        return 1;
    }
    for (int i = 0; i < test.count; i++) correct += predicted[i] == test_labels[i];
    printf("mlptrain %s: test accuracy %.2f%% on %d images\n", mlp_version(), 100.0 * correct / test.count,
           test.count);
    free(predicted);
    mlp_net_free(net);
    mlp_idx_free(&train, &train_labels);
    mlp_idx_free(&test, &test_labels);
    return 0;
}
