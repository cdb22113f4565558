/* The operations, activations, losses, optimizers and metrics the compiled kernels know:
 * one list each, expanded into the C enums (fdnn_kernels.h), the kernel tables
 * (fdnn_ew_type.h) and the names Cython and Python read (fdnn_code_names, fdnn_dispatch.c).
 * A new entry goes here first; its code is its position, so append, and keep each
 * list in the order its enum starts with. */
#ifndef FDNN_CODES_H
#define FDNN_CODES_H

/* y = f(x): X(CODE, kernel) -> FDNN_CODE, kernel k_<kernel>_<type> */
#define FDNN_UNARY_OPS(X)                                                       \
    X(SIGMOID, sigmoid) X(TANH, tanh) X(RELU, relu) X(LEAKY_RELU, leaky_relu)    \
    X(LINEAR, linear)                                                           \
    X(D_SIGMOID_Z, d_sigmoid_z) X(D_TANH_Z, d_tanh_z) X(D_RELU_Z, d_relu_z)      \
    X(D_LEAKY_RELU_Z, d_leaky_relu_z) X(D_LINEAR, d_linear)                     \
    X(D_SIGMOID_A, d_sigmoid_a) X(D_TANH_A, d_tanh_a) X(D_RELU_A, d_relu_a)      \
    X(D_LEAKY_RELU_A, d_leaky_relu_a)                                           \
    X(ELU, elu) X(SELU, selu) X(GELU, gelu) X(GELU_TANH, gelu_tanh)              \
    X(SILU, silu) X(SOFTPLUS, softplus) X(SOFTSIGN, softsign)                    \
    X(HARD_SIGMOID, hard_sigmoid) X(MISH, mish)                                 \
    X(D_ELU_Z, d_elu_z) X(D_SELU_Z, d_selu_z) X(D_GELU_Z, d_gelu_z)              \
    X(D_GELU_TANH_Z, d_gelu_tanh_z) X(D_SILU_Z, d_silu_z)                       \
    X(D_SOFTPLUS_Z, d_softplus_z) X(D_SOFTSIGN_Z, d_softsign_z)                 \
    X(D_HARD_SIGMOID_Z, d_hard_sigmoid_z) X(D_MISH_Z, d_mish_z)                 \
    X(D_ELU_A, d_elu_a) X(D_SELU_A, d_selu_a) X(D_SOFTPLUS_A, d_softplus_a)      \
    X(D_SOFTSIGN_A, d_softsign_a) X(D_HARD_SIGMOID_A, d_hard_sigmoid_a)

/* The activations: X(CODE, name, derivative, what it takes: a or z). Forward is the
 * unary op FDNN_CODE, backward the binary op FDNN_BW_CODE: dZ = dA * g'(a) from the
 * activation a = g(z) where g' can be written in a (the forward pass then keeps only A),
 * dZ = dA * g'(z) from the pre-activation z where it cannot (gelu, silu, mish: the
 * forward pass keeps Z too; fdnn_code_name("backward_input", code) says which). */
#define FDNN_ACTIVATIONS(X)                                                     \
    X(SIGMOID, sigmoid, d_sigmoid_a, a) X(TANH, tanh, d_tanh_a, a)               \
    X(RELU, relu, d_relu_a, a) X(LEAKY_RELU, leaky_relu, d_leaky_relu_a, a)      \
    X(LINEAR, linear, d_linear, a)                                              \
    X(ELU, elu, d_elu_a, a) X(SELU, selu, d_selu_a, a)                           \
    X(GELU, gelu, d_gelu_z, z) X(GELU_TANH, gelu_tanh, d_gelu_tanh_z, z)         \
    X(SILU, silu, d_silu_z, z) X(SOFTPLUS, softplus, d_softplus_a, a)            \
    X(SOFTSIGN, softsign, d_softsign_a, a)                                      \
    X(HARD_SIGMOID, hard_sigmoid, d_hard_sigmoid_a, a) X(MISH, mish, d_mish_z, z)

/* y = f(dA, a) with a table kernel: the activations' backward steps, then others. */
#define FDNN_OTHER_BINARY_OPS(X)                                                \
    X(SGD_STEP, sgd_step) /* y = a - alpha * dA: a gradient-descent update */

/* The compiled training loop's losses, optimizers and metrics: X(CODE, name, ...). */
#define FDNN_LOSSES(X)                                                          \
    X(BCE, binary_crossentropy) X(CCE, categorical_crossentropy) X(MSE, mse)      \
    X(MAE, mae) X(HUBER, huber) X(LOG_COSH, log_cosh) X(POISSON, poisson)        \
    X(HINGE, hinge) X(SQUARED_HINGE, squared_hinge)
/* X(CODE, name, state arrays per parameter array) */
#define FDNN_OPTIMIZERS(X)                                                      \
    X(GD, gd, 0) X(MOMENTUM, momentum, 1) X(RMSPROP, rmsprop, 1) X(ADAM, adam, 2)   \
    X(ADAMW, adamw, 2) X(NADAM, nadam, 2) X(ADAGRAD, adagrad, 1) X(ADAMAX, adamax, 2) \
    X(SGD, sgd, 1)
#define FDNN_METRICS(X)                                                         \
    X(BINARY, binary_accuracy) X(ARGMAX, categorical_accuracy)                  \
    X(MAE, mean_absolute_error) X(MSE, mean_squared_error)                      \
    X(PRECISION, precision) X(RECALL, recall) X(AUC, auc)                       \
    X(TOP_K, top_k_categorical_accuracy)

#define FDNN_ENUM_OP_(CODE, ...) FDNN_##CODE,
#define FDNN_ENUM_BW_(CODE, ...) FDNN_BW_##CODE,
#define FDNN_ENUM_LOSS_(CODE, ...) FDNN_LOSS_##CODE,
#define FDNN_ENUM_OPT_(CODE, ...) FDNN_OPT_##CODE,
#define FDNN_ENUM_METRIC_(CODE, ...) FDNN_METRIC_##CODE,

enum { FDNN_UNARY_OPS(FDNN_ENUM_OP_) FDNN_N_UNARY };
enum {
    FDNN_ACTIVATIONS(FDNN_ENUM_BW_)
    FDNN_OTHER_BINARY_OPS(FDNN_ENUM_OP_)
    FDNN_BW_OUTPUT_SUB, /* loss-fused output layer: dZ = A - Y (only in act_backward) */
    FDNN_N_BINARY
};
#define FDNN_COUNT_(...) +1
enum { FDNN_N_ACTIVATION = 0 FDNN_ACTIVATIONS(FDNN_COUNT_) };
enum { FDNN_LOSSES(FDNN_ENUM_LOSS_) FDNN_N_LOSS };
enum { FDNN_OPTIMIZERS(FDNN_ENUM_OPT_) FDNN_N_OPT };
enum { FDNN_METRICS(FDNN_ENUM_METRIC_) FDNN_N_METRIC };

#ifdef __cplusplus
extern "C" {
#endif
/* Names by code, for Cython and Python: kind is "unary", "binary", "activation", "loss",
 * "optimizer", "metric" or "backward_input" (per activation: "a" or "z"); returns NULL
 * past the last code or for an unknown kind. */
const char *fdnn_code_name(const char *kind, int code);
/* State arrays the optimizer `code` keeps per parameter array (-1 for an unknown code). */
int fdnn_optimizer_slots(int code);
#ifdef __cplusplus
}
#endif

#endif
