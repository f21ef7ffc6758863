"""Training, evaluation and distributed training of pixelrnn models.

python -m train --model row_lstm --data binarized_mnist --preset small   # train.options, train.train
python -m train.evaluate --checkpoint runs/row_lstm --data binarized_mnist
python -m train.classifier --data fashion_mnist --out checkpoints/classifiers/fashion_mnist
python -m train.class_agreement --model COND_MODEL --classifier checkpoints/classifiers/fashion_mnist
torchrun --nproc_per_node=4 -m train ...                                 # train.distributed
"""
