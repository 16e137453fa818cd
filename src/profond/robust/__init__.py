"""Robustness of classifiers to adversarial inputs.

- :mod:`~profond.robust.attacks`: FGSM and PGD (L∞), accuracy under attack;
- :mod:`~profond.robust.adversarial`: adversarial training as a task wrapper;
- :mod:`~profond.robust.report`: ``profond attack``'s curve, examples and logging.
"""
