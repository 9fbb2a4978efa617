_base_ = [
    '../_base_/models/dat-tiny.py',
    '../_base_/datasets/imagenet_bs128_dat_224.py',
    '../_base_/schedules/imagenet_bs512_adamw_dat.py',
    '../_base_/default_runtime.py',
]
