_base_ = [
    '../_base_/models/dilateformer-tiny.py',
    '../_base_/datasets/imagenet_bs128_randaug_224.py',
    '../_base_/schedules/imagenet_bs1024_adamw_dilateformer.py',
    '../_base_/default_runtime.py',
]

# repeated augmentation (DeiT's RASampler, on by default in the official main.py): 3 augmented copies
train_dataloader = dict(sampler=dict(type='RepeatAugSampler', num_repeats=3, shuffle=True))

# Model EMA as in the official main.py (timm ModelEma, decay 0.99996, buffers included). Note: mmengine's
# EMAHook validates and saves the EMA weights as `state_dict`; the official code evaluates the raw model.
custom_hooks = [dict(type='EMAHook', momentum=4e-5, update_buffers=True, priority='ABOVE_NORMAL')]
