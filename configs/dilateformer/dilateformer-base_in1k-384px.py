# DilateFormer-B fine-tuned at 384x384 from the 224 ImageNet-1K model. The official repository publishes no
# fine-tuning recipe; this follows DeiT's 384 fine-tuning (the codebase DilateFormer is built on): 30 epochs,
# AdamW lr 5e-6 per 512 images (1e-5 at 8 x 128), weight decay 1e-8, no warm-up, constant lr
# (DeiT's --min-lr 5e-6 keeps it flat), same augmentation at 384. The model itself needs no change: it has no
# absolute position embedding and accepts any input size.
_base_ = ['./dilateformer-base_in1k.py']

img_size = 384
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    # DeiT at 384: short side int(256 / 224 * 384) = 438, then the central 384
    dict(type='ResizeEdge', scale=438, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-5, weight_decay=1e-8))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end=30)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)

# start from the 224 DilateFormer-B classifier: an official checkpoint converted with
# tools/model_converters/dilateformer2mmattn.py, or a checkpoint trained with dilateformer-base_in1k.py
load_from = 'checkpoints/dilateformer-base_in1k_mmattn.pth'
