_base_ = ['./datpp-tiny_in1k.py']

# base: 64 images per GPU (the lr scales with the total batch), drop path 0.7; otherwise the Tiny recipe
model = dict(backbone=dict(arch='base', drop_path_rate=0.7), head=dict(in_channels=1024))
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader
