# RetinaNet + FPN with a DAT-T++ backbone (mmdet's retinanet_r50_fpn.py): the backbone returns stages 1-3
# (strides 8/16/32, no unused stage-0 norm) and the FPN starts at its first input, with two extra levels computed
# from the last backbone map (add_extra_convs='on_input'); the same network as the official one (4 maps,
# start_level=1). Backbone (and the command that converts its ImageNet classifier):
# _base_/models/datpp-tiny_featmaps.py.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', './datpp-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **{**_base_.featmap_backbone, 'out_indices': (1, 2, 3)}, drop_path_rate=0.0),
    neck=dict(in_channels=_base_.featmap_channels[1:], start_level=0))
