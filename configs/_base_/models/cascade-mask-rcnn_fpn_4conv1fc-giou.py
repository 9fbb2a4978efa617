# Cascade Mask R-CNN + FPN with the box heads of the Swin / DAT++ / ConvNeXt Cascade configs: per stage a
# ConvFCBBoxHead with 4 shared 3x3 convs (SyncBN) and 1 fc, regressing decoded boxes with a GIoU loss (weight
# 10), target stds 0.1/0.2, 0.05/0.1, 0.033/0.067 (mmdet::convnext/cascade-mask-rcnn_convnext-t-p4-w7_fpn_
# 4conv1fc-giou_amp-ms-crop-3x_coco.py; DAT-Detection configs/dat/cascade_mask_rcnn_dat_fpn.py). Everything
# else is mmdet's cascade-mask-rcnn_r50_fpn.py. The backbone (still ResNet-50 here) is set by the files that
# inherit this one. Without distributed training mmengine turns the SyncBN layers into BatchNorm.
_base_ = ['mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py']

model = dict(
    roi_head=dict(bbox_head=[
        dict(
            type='ConvFCBBoxHead',
            num_shared_convs=4,
            num_shared_fcs=1,
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
            reg_class_agnostic=False,
            reg_decoded_bbox=True,
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
        for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
    ]))
