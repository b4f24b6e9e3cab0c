"""One module per tab of the app: :mod:`~demo.tabs.generate`, :mod:`~demo.tabs.evaluate`,
:mod:`~demo.tabs.benchmark` and :mod:`~demo.tabs.study`, each a mixin of
:class:`demo.handlers.Handlers` on the shared :class:`~demo.tabs.base.TabBase`."""
