# DaViT-G (1406M with the 1000-class head) trained sharded with FSDP2 on ImageNet-1K at 224; as DaViT-H
# (davit-huge_fsdp_in1k.py): 2 nodes x 8 GPUs x 64 images. The paper trained G on 1.5B image-text pairs.
_base_ = ['./davit-huge_fsdp_in1k.py']

# activation checkpointing per dual block, for the activations of 64 images through 1.4B parameters (memory not
# measured here; drop it where the GPUs have room)
model = dict(backbone=dict(arch='giant', with_cp=True), head=dict(in_channels=3072))
