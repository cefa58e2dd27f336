"""derived: the tested NumPy package behind the textbook "Deep Learning, Derived".

Every chapter of the book imports this package; every function in it is checked
against an independent oracle (torch in float64, finite differences, brute force)
in ``tests/``. One concept per module, named after the concept:

========================  ==========================================  =======
module                    concept                                     chapter
========================  ==========================================  =======
``derived.softmax``       softmax, log-softmax, its Jacobian and VJP  6
``derived.metrics``       top-k error and accuracy, ties              16
``derived.tsne``          t-SNE affinities, KL objective, gradient    17
``derived.plotting``      the book's single figure style              all
========================  ==========================================  =======

Nothing runs at import time; submodules are imported explicitly
(``from derived.softmax import softmax``).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
