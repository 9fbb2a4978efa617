_base_ = [
    '../_base_/models/dat-tiny.py',
    '../_base_/datasets/imagenet_bs128_randaug_224.py',  # the official DAT augmentation, crop_pct 0.875
    '../_base_/schedules/imagenet_bs512_adamw_dat.py',
    '../_base_/default_runtime.py',
]
