_base_ = ['./dilateformer-tiny_in1k.py']

# drop path 0.1 is the only value in the official code (dist_train.sh); per-variant values are not published
model = dict(backbone=dict(arch='base', drop_path_rate=0.1), head=dict(in_channels=768))
