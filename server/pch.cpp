// Owner of the precompiled LibTorch header; intentionally has no code of its own.
