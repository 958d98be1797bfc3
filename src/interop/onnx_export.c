/* ONNX export: the model as an ONNX graph, built from the protobuf-c structures that protoc-c
 * generates from libonnx-dev's onnx.proto at build time (src/interop/CMakeLists.txt).
 *
 *   pixels [N, in] float32 (0..1)          or  pixels [N, in] uint8 -> Cast(FLOAT) -> Mul(1/255)
 *   Gemm(x, layers.0.weight [out, in], layers.0.bias [out], transB=1) -> Relu/Sigmoid/Tanh
 *   ...
 *   Gemm(last) -> Softmax(axis=1)  (or Sigmoid for a one-unit sigmoid output) -> probabilities [N, out]
 *
 * Weights are stored [out, in] with transB = 1, as torch.onnx.export writes nn.Linear: the form
 * every ONNX runtime's Gemm path is tested with. IR version 8 and opset 13: what Debian's
 * onnx 1.12 checker and OpenCV 4.6's importer accept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop_layers.h"
#include "core/file_util.h"
#include "onnx.pb-c.h"

#define ONNX_IR_VERSION 8
#define ONNX_OPSET 13
#ifndef MLP_VERSION
#define MLP_VERSION "0"
#endif

/* Every node has at most 3 inputs and 1 attribute; layers: Gemm + activation; plus Cast, Mul and
 * the output node. */
#define ONNX_MAX_NODES (2 * MLP_MAX_LAYERS + 3)
#define ONNX_MAX_TENSORS (2 * MLP_MAX_LAYERS + 1)

/* All the message structures of one export; protobuf-c messages point at each other, so they live
 * together here and nothing is allocated per message. */
typedef struct onnx_builder {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__StringStringEntryProto properties[3];
    Onnx__StringStringEntryProto *property_list[3];

    Onnx__NodeProto nodes[ONNX_MAX_NODES];
    Onnx__NodeProto *node_list[ONNX_MAX_NODES];
    char *node_inputs[ONNX_MAX_NODES][3];
    char *node_outputs[ONNX_MAX_NODES][1];
    Onnx__AttributeProto attributes[ONNX_MAX_NODES];
    Onnx__AttributeProto *attribute_list[ONNX_MAX_NODES][1];
    char names[ONNX_MAX_NODES][4][32]; /* the node's inputs, then its output */
    char node_names[ONNX_MAX_NODES][32];
    int node_count;

    Onnx__TensorProto tensors[ONNX_MAX_TENSORS];
    Onnx__TensorProto *tensor_list[ONNX_MAX_TENSORS];
    int64_t tensor_dims[ONNX_MAX_TENSORS][2];
    char tensor_names[ONNX_MAX_TENSORS][32];
    int tensor_count;

    /* graph input and output: name, type, tensor type, shape and its two dimensions */
    Onnx__ValueInfoProto values[2];
    Onnx__ValueInfoProto *input_list[1], *output_list[1];
    Onnx__TypeProto types[2];
    Onnx__TypeProto__Tensor tensor_types[2];
    Onnx__TensorShapeProto shapes[2];
    Onnx__TensorShapeProto__Dimension dimensions[2][2];
    Onnx__TensorShapeProto__Dimension *dimension_list[2][2];

    char layers_text[512], doc[768];
    float pixel_scale;
} onnx_builder;

/* A node with up to three inputs, one output and at most one INT attribute (name NULL: none). */
static Onnx__NodeProto *add_node(onnx_builder *b, const char *op_type, const char *const *inputs,
                                 int input_count, const char *output, const char *attribute,
                                 int64_t value) {
    int i = b->node_count++;
    Onnx__NodeProto *node = &b->nodes[i];
    *node = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    for (int k = 0; k < input_count; k++) {
        snprintf(b->names[i][k], sizeof b->names[i][k], "%s", inputs[k]);
        b->node_inputs[i][k] = b->names[i][k];
    }
    node->n_input = (size_t)input_count;
    node->input = b->node_inputs[i];
    snprintf(b->names[i][3], sizeof b->names[i][3], "%s", output);
    b->node_outputs[i][0] = b->names[i][3];
    node->n_output = 1;
    node->output = b->node_outputs[i];
    snprintf(b->node_names[i], sizeof b->node_names[i], "%s_%d", op_type, i);
    node->name = b->node_names[i];
    node->op_type = (char *)op_type;
    if (attribute) {
        Onnx__AttributeProto *a = &b->attributes[i];
        *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
        a->name = (char *)attribute;
        a->has_type = 1;
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = value;
        b->attribute_list[i][0] = a;
        node->n_attribute = 1;
        node->attribute = b->attribute_list[i];
    }
    b->node_list[i] = node;
    return node;
}

/* An initializer of float32 values already encoded little-endian in raw. */
static void add_tensor(onnx_builder *b, const char *name, const int64_t *dims, int rank, uint8_t *raw,
                       size_t raw_size) {
    int i = b->tensor_count++;
    Onnx__TensorProto *t = &b->tensors[i];
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    snprintf(b->tensor_names[i], sizeof b->tensor_names[i], "%s", name);
    t->name = b->tensor_names[i];
    if (rank > 0) memcpy(b->tensor_dims[i], dims, (size_t)rank * sizeof *dims);
    t->n_dims = (size_t)rank;
    t->dims = b->tensor_dims[i];
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = raw_size;
    b->tensor_list[i] = t;
}

/* Graph input (which 0) or output (which 1): [N, width] of elem_type, N a symbolic batch size. */
static Onnx__ValueInfoProto *value_info(onnx_builder *b, int which, const char *name, int32_t elem_type,
                                        int64_t width) {
    Onnx__TensorShapeProto__Dimension *d = b->dimensions[which];
    d[0] = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    d[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d[0].dim_param = "N";
    d[1] = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    d[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d[1].dim_value = width;
    b->dimension_list[which][0] = &d[0];
    b->dimension_list[which][1] = &d[1];
    b->shapes[which] = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    b->shapes[which].n_dim = 2;
    b->shapes[which].dim = b->dimension_list[which];
    b->tensor_types[which] = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    b->tensor_types[which].has_elem_type = 1;
    b->tensor_types[which].elem_type = elem_type;
    b->tensor_types[which].shape = &b->shapes[which];
    b->types[which] = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    b->types[which].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->types[which].tensor_type = &b->tensor_types[which];
    b->values[which] = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    b->values[which].name = (char *)name;
    b->values[which].type = &b->types[which];
    return &b->values[which];
}

static const char *activation_op(mlp_activation activation) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: return "Relu";
    case MLP_ACTIVATION_SIGMOID: return "Sigmoid";
    case MLP_ACTIVATION_TANH: return "Tanh";
    default: return NULL;
    }
}

int mlp_interop_onnx_serialize(const mlp_model *model, mlp_interop_onnx_input input, uint8_t **bytes,
                           size_t *size, mlp_error *error) {
    const char *hidden_op = activation_op(model->hidden_activation);
    if (model->layer_count > 1 && !hidden_op)
        return mlp_error_set(error, "onnx: hidden activation %d has no ONNX operator", (int)model->hidden_activation);
    onnx_builder *b = calloc(1, sizeof *b);
    size_t raw_floats = 0;
    for (int l = 0; l < model->layer_count; l++)
        raw_floats += (size_t)model->sizes[l] * model->sizes[l + 1] + (size_t)model->sizes[l + 1];
    uint8_t *raw = malloc(4 * raw_floats + 4);
    if (!b || !raw) {
        free(b);
        free(raw);
        return mlp_error_set(error, "onnx: out of memory (%zu parameters)", raw_floats);
    }

    /* The input, and the uint8 form's scaling inside the graph. x: the current layer's input. */
    char x[32] = "pixels";
    uint8_t *p = raw;
    if (input == MLP_INTEROP_ONNX_INPUT_UINT8) {
        const char *cast_in[1] = {"pixels"}, *mul_in[2] = {"pixels_float", "pixel_scale"};
        add_node(b, "Cast", cast_in, 1, "pixels_float", "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
        /* the trainer's first layer multiplies each byte by 1.0f / 255.0f: the same float here */
        put_u32_le(p, interop_float_bits(1.0f / 255.0f));
        add_tensor(b, "pixel_scale", NULL, 0, p, 4);
        p += 4;
        add_node(b, "Mul", mul_in, 2, "pixels_scaled", NULL, 0);
        snprintf(x, sizeof x, "pixels_scaled");
    }

    /* One Gemm (+ activation) per layer; add_node copies the names. */
    for (int l = 0; l < model->layer_count; l++) {
        int in = model->sizes[l], out = model->sizes[l + 1], last = l == model->layer_count - 1;
        char weight_name[32], bias_name[32];
        snprintf(weight_name, sizeof weight_name, "layers.%d.weight", l);
        snprintf(bias_name, sizeof bias_name, "layers.%d.bias", l);
        const float *w = mlp_model_weights(model, l), *bias = mlp_model_biases(model, l);
        int64_t weight_dims[2] = {out, in}, bias_dims[1] = {out};
        uint8_t *start = p;
        for (int q = 0; q < out; q++) /* [out, in]: the transpose of the model's [in, out] */
            for (int k = 0; k < in; k++, p += 4) put_u32_le(p, interop_float_bits(w[(size_t)k * out + q]));
        add_tensor(b, weight_name, weight_dims, 2, start, (size_t)(p - start));
        start = p;
        for (int q = 0; q < out; q++, p += 4) put_u32_le(p, interop_float_bits(bias[q]));
        add_tensor(b, bias_name, bias_dims, 1, start, (size_t)(p - start));

        char z[32];
        if (last) snprintf(z, sizeof z, "logits");
        else snprintf(z, sizeof z, "layers.%d.z", l);
        const char *gemm_in[3] = {x, weight_name, bias_name};
        add_node(b, "Gemm", gemm_in, 3, z, "transB", 1);
        if (!last) {
            const char *act_in[1] = {z};
            snprintf(x, sizeof x, "layers.%d.a", l);
            add_node(b, hidden_op, act_in, 1, x, NULL, 0);
        }
    }
    const char *logits[1] = {"logits"};
    if (model->output == MLP_OUTPUT_SIGMOID) add_node(b, "Sigmoid", logits, 1, "probabilities", NULL, 0);
    else add_node(b, "Softmax", logits, 1, "probabilities", "axis", 1);

    /* The graph and the model around it. */
    int classes = model->sizes[model->layer_count];
    b->input_list[0] = value_info(b, 0, "pixels",
                                  input == MLP_INTEROP_ONNX_INPUT_UINT8 ? ONNX__TENSOR_PROTO__DATA_TYPE__UINT8
                                                                    : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                  model->sizes[0]);
    b->output_list[0] = value_info(b, 1, "probabilities", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, classes);
    mlp_interop_layers_text(model, b->layers_text, sizeof b->layers_text);
    const char *activation = mlp_model_activation_name(model->hidden_activation);
    const char *output = model->output == MLP_OUTPUT_SIGMOID ? "sigmoid" : "softmax";
    snprintf(b->doc, sizeof b->doc, "mlptrain MLP %s, hidden activation %s, %s output; input pixels %s",
             b->layers_text, activation, output,
             input == MLP_INTEROP_ONNX_INPUT_UINT8 ? "uint8 0..255 (scaled by 1/255 in the graph)"
                                               : "float32 scaled to 0..1");
    b->graph = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
    b->graph.name = "mlp";
    b->graph.doc_string = b->doc;
    b->graph.n_node = (size_t)b->node_count;
    b->graph.node = b->node_list;
    b->graph.n_initializer = (size_t)b->tensor_count;
    b->graph.initializer = b->tensor_list;
    b->graph.n_input = 1;
    b->graph.input = b->input_list;
    b->graph.n_output = 1;
    b->graph.output = b->output_list;

    b->opset = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = ONNX_OPSET;
    b->opsets[0] = &b->opset;
    const char *keys[3] = {"layers", "activation", "output"}, *values[3] = {b->layers_text, activation, output};
    for (int i = 0; i < 3; i++) {
        b->properties[i] = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        b->properties[i].key = (char *)keys[i];
        b->properties[i].value = (char *)values[i];
        b->property_list[i] = &b->properties[i];
    }
    b->model = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
    b->model.has_ir_version = 1;
    b->model.ir_version = ONNX_IR_VERSION;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.producer_name = "mlptrain";
    b->model.producer_version = MLP_VERSION;
    b->model.doc_string = b->doc;
    b->model.graph = &b->graph;
    b->model.n_metadata_props = 3;
    b->model.metadata_props = b->property_list;

    size_t packed_size = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *packed = malloc(packed_size ? packed_size : 1);
    if (!packed) {
        free(raw);
        free(b);
        return mlp_error_set(error, "onnx: out of memory (%zu bytes)", packed_size);
    }
    size_t written = onnx__model_proto__pack(&b->model, packed);
    free(raw);
    free(b);
    if (written != packed_size) {
        free(packed);
        return mlp_error_set(error, "onnx: packed %zu bytes of %zu", written, packed_size);
    }
    *bytes = packed;
    *size = packed_size;
    return 0;
}
