# DAT-T++ on ImageNet-1k, the official recipe (LeapLabTHU/DAT configs/dat_tiny.yaml, Swin codebase): the same
# augmentation and AdamW schedule as DAT v1 (5e-4 per 512 images, 20 warm-up epochs, clip 5.0, 300 epochs),
# 128 images per GPU, drop path 0.2.
_base_ = [
    '../_base_/models/datpp-tiny.py',
    '../_base_/datasets/imagenet_bs128_randaug_224.py',  # the official DAT augmentation, crop_pct 0.875
    '../_base_/schedules/imagenet_bs512_adamw_dat.py',
    '../_base_/default_runtime.py',
]
