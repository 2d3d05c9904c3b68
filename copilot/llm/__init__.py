"""Local LLM explanations: sandboxed worker, grammar-constrained output, grounding check."""
