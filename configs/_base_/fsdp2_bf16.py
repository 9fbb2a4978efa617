# Sharded data-parallel training (torch FSDP2, mmattn.FSDP2Strategy) through mmengine's FlexibleRunner, on GPUs
# (NCCL) or CPUs (gloo): parameters, gradients and AdamW states are split across all ranks of all nodes.
# Compute in bfloat16 while the master weights, the optimizer and the gradient reduction stay fp32.
# An experiment adds strategy.wrap_modules: the class names of its blocks, each gathered only while it runs.
# Checkpoints hold the full, unsharded state dict (tools/test.py loads them with or without the strategy).
runner_type = 'FlexibleRunner'
strategy = dict(
    type='mmattn.FSDP2Strategy',
    mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32'),
)
