# DaViT-L (196.8M with the 1000-class head) trained sharded with FSDP2 on ImageNet-1K at 384, with the official
# large model's 12x12 windows (DaViT_large_window12_384) and evaluation (crop_pct 1.0: the whole image resized
# to 384). 2 nodes x 8 GPUs x 64 images, as davit-huge_fsdp_in1k.py. The paper pre-trained L on ImageNet-22K.
_base_ = ['./davit-huge_fsdp_in1k.py']

model = dict(backbone=dict(arch='large', window_size=12), head=dict(in_channels=1536))
train_pipeline = [dict(step, scale=384) if step['type'] == 'RandomResizedCrop' else step
                  for step in _base_.train_pipeline]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
