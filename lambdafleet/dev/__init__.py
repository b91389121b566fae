"""The dev loop: `build.py up` (the local stack applied, saved code redeployed at once) and sample events."""
