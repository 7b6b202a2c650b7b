"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998), in a modern and a 1998-flavoured variant.

The layer names follow the paper: C = convolution, S = subsampling (pooling), F = fully connected.
A 28x28 MNIST digit is padded by 2 pixels on each side inside C1, which is the paper's 32x32 input
field; from there the shapes are the paper's::

    input   1 x 28 x 28   (padded to 32 x 32)
    C1      6 x 28 x 28   5x5 convolution
    S2      6 x 14 x 14   2x2 pooling, stride 2
    C3     16 x 10 x 10   5x5 convolution
    S4     16 x  5 x  5   2x2 pooling, stride 2
    C5    120             5x5 convolution over a 5x5 map == a fully connected layer on 400 inputs
    F6     84
    output 10

Differences from the paper, on purpose: C3 sees all six S2 maps (the paper wired each C3 map to a
subset of them, to save parameters and break symmetry); S2/S4 have no trainable coefficient and
bias; the output is a linear layer with softmax cross-entropy instead of Euclidean RBF units.

Each convolution is followed by its pooling and *then* the nonlinearity (conv -> pool -> act), as
in the paper's subsampling units, which squash after averaging. For ReLU with max pooling the order
makes no difference to the result -- max and ReLU commute -- but the activation then touches a
quarter of the values, which makes training on a CPU about 10 % faster.
"""

from __future__ import annotations

from torch import nn

from ._args import check_images, choose, positive_int

# Table I of the 1998 paper: which of S2's six maps each of C3's sixteen maps reads.
C3_CONNECTIONS = (
    *[tuple((i + k) % 6 for k in range(3)) for i in range(6)],  # maps 0-5: three neighbours
    *[tuple((i + k) % 6 for k in range(4)) for i in range(6)],  # maps 6-11: four neighbours
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),  # maps 12-14: four, with a gap
    tuple(range(6)),  # map 15: all six
)


def paper_parameter_counts() -> dict[str, int]:
    """Trainable parameters per layer of the 1998 LeNet-5, from its description.

    Subsampling layers have one trainable coefficient and one bias per map; C3 follows
    `C3_CONNECTIONS`; the output's 84x10 RBF centres were fixed by hand, so they are not trained.
    """
    k = 5 * 5
    return {
        "C1": 6 * (1 * k + 1),
        "S2": 6 * 2,
        "C3": sum(len(inputs) for inputs in C3_CONNECTIONS) * k + 16,
        "S4": 16 * 2,
        "C5": 120 * (16 * k + 1),
        "F6": 84 * (120 + 1),
        "output (RBF, fixed)": 0,
    }


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(nn.Module):
    """LeNet-5 for (N, in_channels, 28, 28) inputs, returning (N, num_classes) logits.

    activation: "relu" | "tanh" | "sigmoid"; pool: "max" | "avg" (1998: tanh-like squashing and
    average subsampling; today's default: ReLU and max pooling). Unknown names raise
    `coursekit.errors.UnknownName`; sizes must be integers >= 1. Any other input size than 28 x 28
    is refused with a message saying so (the classifier's 400 inputs assume it).
    """

    size = (28, 28)  # (H, W) of the input

    def __init__(self, activation: str = "relu", pool: str = "max", in_channels: int = 1, num_classes: int = 10):
        super().__init__()
        act, down = choose("activation", activation, ACTIVATIONS), choose("pool", pool, POOLS)
        positive_int("in_channels", in_channels)
        positive_int("num_classes", num_classes)
        self.config = dict(activation=activation, pool=pool, in_channels=in_channels, num_classes=num_classes)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),  # C1: 6 @ 28x28 (28 + 2*2 = 32 in)
            down(kernel_size=2, stride=2),  # S2: 6 @ 14x14
            act(),
            nn.Conv2d(6, 16, kernel_size=5),  # C3: 16 @ 10x10
            down(kernel_size=2, stride=2),  # S4: 16 @ 5x5
            act(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # 16 * 5 * 5 = 400
            nn.Linear(16 * 5 * 5, 120),  # C5: 120
            act(),
            nn.Linear(120, 84),  # F6: 84
            act(),
            nn.Linear(84, num_classes),  # output: 10
        )

    # The paper's names for the parametrised layers, for pictures and exercises.
    @property
    def c1(self) -> nn.Conv2d:
        return self.features[0]

    @property
    def c3(self) -> nn.Conv2d:
        return self.features[3]

    @property
    def c5(self) -> nn.Linear:
        return self.classifier[1]

    @property
    def f6(self) -> nn.Linear:
        return self.classifier[3]

    @property
    def output(self) -> nn.Linear:
        return self.classifier[5]

    def feature_maps(self, x):
        """C1's and C3's maps before pooling, passed through the nonlinearity, as a dict.

        x: (N, in_channels, 28, 28) -> {"C1": (N, 6, 28, 28), "C3": (N, 16, 10, 10)}.
        """
        check_images(x, "LeNet5", self.config["in_channels"], self.size)
        conv1, s2, act = self.features[0], self.features[1], self.features[2]
        c1 = conv1(x)
        c3 = self.c3(act(s2(c1)))
        return {"C1": act(c1), "C3": act(c3)}

    def forward(self, x):
        check_images(x, "LeNet5", self.config["in_channels"], self.size)  # (N, in_channels, 28, 28)
        return self.classifier(self.features(x))
