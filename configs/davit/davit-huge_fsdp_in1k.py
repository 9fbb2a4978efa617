# DaViT-H (348.9M with the 1000-class head) trained sharded with FSDP2 on ImageNet-1K at 224, with DaViT's
# ImageNet recipe (configs/davit/davit-tiny_in1k.py). 2 nodes x 8 GPUs x 64 images = the recipe's batch of
# 1024 (other totals: --auto-scale-lr). The paper trained H on 1.5B image-text pairs, which is not public.
_base_ = ['./davit-tiny_in1k.py', '../_base_/fsdp2_bf16.py']

strategy = dict(wrap_modules=('DualBlock', ))  # each spatial + channel attention pair is one FSDP unit
# drop path 0.5: our choice for L/H/G from scratch (released recipes stop at B's 0.4)
model = dict(backbone=dict(arch='huge', drop_path_rate=0.5), head=dict(in_channels=2048))
train_dataloader = dict(batch_size=64)
