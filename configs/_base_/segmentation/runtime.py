# Imported by every mmattn segmentation config, next to an mmseg experiment (which brings mmseg's runtime:
# default_scope='mmseg', SegLocalVisualizer, tta_model=SegTTAModel for `tools/test.py --tta`): registers our
# backbones, which the configs name as type='mmattn.DaViT' / 'mmattn.DAT' / 'mmattn.DilateFormer'.
custom_imports = dict(imports=['mmattn.models'], allow_failed_imports=False)
