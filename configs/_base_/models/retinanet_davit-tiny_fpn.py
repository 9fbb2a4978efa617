# RetinaNet + FPN with a DaViT-T backbone (mmdet's retinanet_r50_fpn.py). As the official config, the FPN uses the
# stride-8/16/32 maps plus two extra levels computed from the last backbone map (add_extra_convs='on_input'). The
# official code returns all 4 maps and sets start_level=1, leaving norm0 unused (its comment asks to delete it by
# hand); here, as in mmdet's Swin RetinaNet, the backbone only returns stages 1-3 (no norm0 at all) and the FPN
# starts at its first input. Same network, no unused parameters under DDP. Backbone (and the command that converts
# its ImageNet classifier): _base_/models/davit-tiny_featmaps.py.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', './davit-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **{**_base_.featmap_backbone, 'out_indices': (1, 2, 3)}, drop_path_rate=0.1),
    neck=dict(in_channels=_base_.featmap_channels[1:], start_level=0))
