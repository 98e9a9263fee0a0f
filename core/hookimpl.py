import pluggy

hookimpl = pluggy.HookimplMarker("ftx")
