"""The model: Claude (Anthropic API or Bedrock) and the offline model behind one request type,
prompt caching, the prompts themselves, and what each model's tokens cost.
"""
