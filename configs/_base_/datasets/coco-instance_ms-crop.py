# COCO 2017 instance segmentation (mmdet's coco_instance.py: data/coco/, 2 images per GPU, box + mask metrics,
# single-scale 1333x800 test) with the multi-scale + crop training augmentation (ms-crop_augmentation.py).
_base_ = ['mmdet::_base_/datasets/coco_instance.py', './ms-crop_augmentation.py']

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    *_base_.ms_crop_augmentation,
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
