"""derived: the tested NumPy package behind the textbook "Deep Learning, Derived".

Every chapter of the book imports this package; every function in it is checked
against an independent oracle (torch in float64, finite differences, brute force)
in ``tests/``. One concept per module, named after the concept (the README's chapter
map says which chapters use which module):

============================  ===========================================
module                        concept
============================  ===========================================
``derived.perceptron``        threshold units, logic gates, XOR network
``derived.affine``            composing affine layers, rank bottleneck
``derived.regions``           exact linear pieces of 1-D ReLU networks
``derived.activations``       activations, derivatives, sigmoid <-> tanh
``derived.signal``            error signals through depth: rates, batch
``derived.jacobians``         closed-form Jacobians of the catalogue
``derived.softmax``           softmax, log-softmax, its Jacobian and VJP
``derived.autograd``          a scalar reverse-mode autodiff engine
``derived.mlp``               MLP forward and backward for batches
``derived.losses``            likelihood losses and their gradients
``derived.init``              Xavier/Glorot and He initialisation
``derived.optim``             SGD, momentum, Adam, AdamW; ISTA (lasso)
``derived.dropout``           inverted and original dropout
``derived.receptive``         receptive fields of convolutional stacks
``derived.data``              the bundled digits, split and standardised
``derived.train``             mini-batch training loop, its history
``derived.conv``              convolution forward and backward (im2col)
``derived.pooling``           max, average, adaptive pooling
``derived.metrics``           top-k error and accuracy, ties
``derived.tsne``              t-SNE affinities, KL objective, gradient
``derived.roofline``          arithmetic intensity and the roofline
``derived.kernels``           Triton kernels (an extra): doublify, matmul, attention
``derived.bench``             benchmarks: python -m derived.bench
``derived.wann``              weight agnostic networks, weight sweeps
``derived.norm``              batch, layer and RMS norm, their backward
``derived.attention``         scaled dot-product attention, heads, masks
``derived.transformer``       a pre-LN transformer block, trained
``derived.online_softmax``    online softmax, block-by-block attention
``derived.check``             checks that grade a student's functions
``derived.errata``            the seeds' errors, each with a check
``derived.plotting``          the book's single figure style
``derived.book``              glued values, in the book and downloads
============================  ===========================================

Nothing runs at import time; submodules are imported explicitly
(``from derived.softmax import softmax``). The benchmark results the chapters plot ship
with the package, in ``derived/recorded/``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
