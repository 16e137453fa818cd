"""Labs: experiments that decide the course's claims by measurement.

Writing a lab (see ``activation_gradients.py`` for a complete one):

1. a frozen config dataclass with ``seeds`` (2-3 in fast mode) and every size and threshold the
   decision rules use; one instance per mode (``CONFIG`` fast, ``FAITHFUL``);
2. ``CLAIMS``: :class:`~profond.labs.base.Claim` objects (the course's statement in our words,
   where it says it, the measured quantity, the rule written from the config);
3. ``experiment(ctx)``: measure over ``ctx.seeds`` (train with
   :mod:`profond.labs.small_train`: ``Setting``, ``digits()``, ``train``, ``over_seeds``,
   ``tune_lr``; Fashion-MNIST subsets from :mod:`profond.labs.data_small`), draw a figure that
   shows every seed (:mod:`profond.labs.figures`), and return one verdict per claim with
   :func:`~profond.labs.protocol.decide` on per-seed results (:func:`~profond.labs.protocol.compare`
   for two arms: an effect counts beyond ``max(margin, 2 × pooled seed std)``);
4. ``LAB = Lab(...)`` with keywords and the bank ids it answers, and its module name in
   :data:`profond.labs.registry.LAB_MODULES`. The test over all labs checks the fast-mode budget.
"""
