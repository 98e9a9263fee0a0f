"""The local backend's own commands (``ftx generate``, ``ftx export``), added through
``ftx_register_commands`` like any plugin's: ``FTX_DISABLE_PLUGINS=local`` removes them."""
