# `make demo`, stage 2: the DaViT-T Mask R-CNN COCO config, scaled down to the generated COCO-format shapes set
# (tools/demo.py writes it to work_dirs/demo/data/coco_shapes: 96x96 images, 4 classes) and initialised from
# the classifier of stage 1, so that it learns in a few minutes on 2 CPU cores. Everything below is what differs
# from configs/davit/mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco.py.
_base_ = ['../davit/mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco.py']

data_root = 'work_dirs/demo/data/coco_shapes/'
metainfo = dict(classes=('circle', 'square', 'triangle', 'bar'))
image_scale = (96, 96)  # as generated: shapes of 11-29 px, hence anchors of 16-256 px (scale 4, not 8)

width = 128  # FPN and heads at half of COCO's 256 channels (fc 256, not 1024): a CPU step 1.6 s -> 1.0 s
model = dict(
    backbone=dict(drop_path_rate=0.0, init_cfg=dict(checkpoint='work_dirs/demo/cls/epoch_4.pth')),
    neck=dict(out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(in_channels=width, fc_out_channels=256, num_classes=4),
        mask_roi_extractor=dict(out_channels=width),
        mask_head=dict(in_channels=width, conv_out_channels=width, num_classes=4)),
    # at most 4 objects an image: far fewer proposals and sampled RoIs than COCO's 1000 and 512 (the mask head's
    # four 256-channel convs per positive RoI would otherwise cost most of a CPU step)
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=100), rcnn=dict(sampler=dict(num=16))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline,
                 filter_cfg=dict(filter_empty_gt=True, min_size=8)))
val_dataloader = dict(batch_size=4, num_workers=2,
                      dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

max_iters = 160
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=2e-4))  # batch 4 instead of 16, few steps: a larger lr than 1e-4
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[130], gamma=0.1),
]
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
