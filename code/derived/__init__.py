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
``derived.softmax``       softmax, log-softmax, its Jacobian and VJP  6
``derived.losses``        likelihood losses and their gradients       8, 9
``derived.init``          Xavier/Glorot and He initialisation         10
``derived.dropout``       inverted and original dropout               12
``derived.optim``         SGD, momentum, Adam, AdamW; ISTA (lasso)    11
``derived.train``         mini-batch training loop, its history       13
``derived.plotting``      the book's single figure style              all
``derived.wann``          weight agnostic networks: shared-weight     19
                          topologies, weight sweeps, random search
========================  ==========================================  =======

Nothing runs at import time; submodules are imported explicitly
(``from derived.softmax import softmax``).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
