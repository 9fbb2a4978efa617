_base_ = ['./dat-tiny_in1k.py']

# base: lr 4e-4 per 512 images, 50 warm-up epochs, gradient clipping at 1.0
model = dict(backbone=dict(arch='base', drop_path_rate=0.5), head=dict(in_channels=1024))
optim_wrapper = dict(optimizer=dict(lr=4e-4), clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.25e-3, by_epoch=True, begin=0, end=50, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=1.25e-2, by_epoch=True, begin=50, end=300,
         convert_to_iter_based=True),
]
