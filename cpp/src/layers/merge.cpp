#include "layers/merge.h"

EIGENNET_LAYER_FACTORY(add, Add)
EIGENNET_LAYER_FACTORY(subtract, Subtract)
EIGENNET_LAYER_FACTORY(multiply, Multiply)
EIGENNET_LAYER_FACTORY(average, Average)
