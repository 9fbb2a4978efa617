_base_ = [
    '../_base_/models/davit-tiny.py',
    '../_base_/datasets/imagenet_bs128_davit_224.py',
    '../_base_/schedules/imagenet_bs1024_adamw_davit.py',
    '../_base_/default_runtime.py',
]
