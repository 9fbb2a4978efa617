_base_ = ['./dat-base_in1k.py']

# DAT-B at 384 (window 12, deformable bias tables for 24x24 / 12x12), fine-tuned from DAT-B 224 as in the
# official v1 recipe: 30 epochs, lr 2e-6 per 512 images, wd 1e-8, 24 images per GPU. Loading the 224
# checkpoint resizes its relative-position tables bicubically (as the official load_pretrained does).
# Not recorded for v1 and assumed here: no warm-up, min lr 2e-7 per 512 (ratio 0.1, as the DAT++ 384
# fine-tune), and the Swin codebase's default test crop (short side int(384 * 256 / 224) = 438, crop 384).
model = dict(backbone=dict(arch='base-384'))
load_from = None  # e.g. a converted DAT-B 224 checkpoint (tools/model_converters/dat2mmattn.py)

data_preprocessor = dict(num_classes=1000, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         to_rgb=True)
bgr_mean = data_preprocessor['mean'][::-1]
bgr_std = data_preprocessor['std'][::-1]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10, magnitude_level=9,
         magnitude_std=0.5, hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=438, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=384),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=24, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=24, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=2e-6, weight_decay=1e-8))
param_scheduler = [dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=0, end=30,
                        convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
