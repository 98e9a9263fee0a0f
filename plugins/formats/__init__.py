"""Built-in data formats: chat, alpaca, prompt-completion, sharegpt, preference, openai-dpo, gemini.

Each format is a small module; they are imported inside the hook so loading plugins stays cheap.
"""

from ftx import hookimpl


@hookimpl
def ftx_register_formats(register):
    from .alpaca import AlpacaFormat
    from .chat import ChatFormat
    from .gemini import GeminiFormat
    from .openai_dpo import OpenAIDPOFormat
    from .preference import PreferenceFormat
    from .prompt_completion import PromptCompletionFormat
    from .sharegpt import ShareGPTFormat

    for cls in (ChatFormat, AlpacaFormat, PromptCompletionFormat, ShareGPTFormat, PreferenceFormat,
                OpenAIDPOFormat, GeminiFormat):
        register(cls())
