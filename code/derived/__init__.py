"""derived: the tested NumPy package behind the textbook "Deep Learning, Derived".

Every chapter of the book imports this package; every function in it is checked
against an independent oracle (torch in float64, finite differences, brute force)
in ``tests/``. One concept per module, named after the concept:

========================  ==========================================  =======
module                    concept                                     chapter
========================  ==========================================  =======
``derived.perceptron``    threshold units, logic gates, XOR network   1
``derived.affine``        composing affine layers, rank bottleneck    2
``derived.regions``       exact linear pieces of 1-D ReLU networks    3
``derived.activations``   activations, derivatives, sigmoid <-> tanh  4
``derived.signal``        error signals through depth: rates, batch   4
``derived.jacobians``     closed-form Jacobians of the catalogue      5
``derived.softmax``       softmax, log-softmax, its Jacobian and VJP  6
``derived.autograd``      a scalar reverse-mode autodiff engine       7
``derived.mlp``           MLP forward and backward for batches        8
``derived.losses``        likelihood losses and their gradients       8, 9
``derived.init``          Xavier/Glorot and He initialisation         10
``derived.optim``         SGD, momentum, Adam, AdamW; ISTA (lasso)    11
``derived.dropout``       inverted and original dropout               12
``derived.receptive``     receptive fields of convolutional stacks    12
``derived.data``          the bundled digits, split and standardised  13, 17
``derived.train``         mini-batch training loop, its history       13
``derived.conv``          convolution forward and backward (im2col)   14
``derived.pooling``       max, average, adaptive pooling              15
``derived.metrics``       top-k error and accuracy, ties              16
``derived.tsne``          t-SNE affinities, KL objective, gradient    17
``derived.roofline``      arithmetic intensity and the roofline       18
``derived.kernels``       Triton kernels: doublify, matmul (extra)    18
``derived.bench``         benchmarks: python -m derived.bench         18
``derived.wann``          weight agnostic networks, weight sweeps     19
``derived.errata``        the seeds' errors, each with a check        errata
``derived.plotting``      the book's single figure style              all
``derived.book``          glued values, in the book and downloads     all
========================  ==========================================  =======

Nothing runs at import time; submodules are imported explicitly
(``from derived.softmax import softmax``). The benchmark results the chapters plot ship
with the package, in ``derived/recorded/``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
