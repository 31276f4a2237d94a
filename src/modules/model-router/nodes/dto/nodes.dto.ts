import { Field, Float, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, registerDecorator, ValidationOptions } from 'class-validator';
import { CircuitState } from 'src/modules/model-router/circuit-breaker';
import { parseKeepAlive } from 'src/modules/model-router/nodes/keep-alive';
import { MODEL_NAME_MAX_LENGTH, parseModelName } from 'src/modules/model-router/nodes/model-name';

const CircuitStateEnum = { closed: 'closed', open: 'open', halfOpen: 'half-open' } as const satisfies Record<string, CircuitState>;
registerEnumType(CircuitStateEnum, { name: 'CircuitState' });
const CIRCUIT_STATES: CircuitState[] = ['closed', 'half-open', 'open'];

function IsOllamaModelName(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isOllamaModelName',
      target: target.constructor,
      propertyName,
      options: {
        message: `${propertyName} must be an Ollama model name ([host/][namespace/]model[:tag], letters, digits and . _ - only, at most ${MODEL_NAME_MAX_LENGTH} characters)`,
        ...options,
      },
      validator: { validate: (value: unknown) => typeof value === 'string' && parseModelName(value) !== null },
    });
}

function IsKeepAlive(options?: ValidationOptions) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isKeepAlive',
      target: target.constructor,
      propertyName,
      options: {
        message: `${propertyName} must be -1 (until unloaded), whole seconds, or a duration like "30m" or "1h30m" (at most a year)`,
        ...options,
      },
      validator: { validate: (value: unknown) => value === undefined || value === null || parseKeepAlive(value) !== null },
    });
}

const MODEL_EXAMPLE = 'llama3.1:8b';

@InputType('PullModelInput')
export class PullModelDto {
  @ApiProperty({ example: MODEL_EXAMPLE, maxLength: MODEL_NAME_MAX_LENGTH })
  @Field()
  @IsString()
  @IsOllamaModelName()
  model: string;
}

@InputType('LoadModelInput')
export class LoadModelDto {
  @ApiProperty({ example: MODEL_EXAMPLE, maxLength: MODEL_NAME_MAX_LENGTH })
  @Field()
  @IsString()
  @IsOllamaModelName()
  model: string;

  @ApiPropertyOptional({
    oneOf: [
      { type: 'string', example: '30m' },
      { type: 'integer', example: 3600 },
    ],
    default: '-1',
    description: '-1 keeps the model loaded until unloaded (pinned); seconds or a duration like "30m" keep it that long after its last use',
  })
  @Field(() => String, { nullable: true, description: '-1 (pinned, the default), seconds, or a duration like "30m"' })
  @IsKeepAlive()
  keepAlive?: string | number | null;
}

@InputType('UnloadModelInput')
export class UnloadModelDto {
  @ApiProperty({ example: MODEL_EXAMPLE, maxLength: MODEL_NAME_MAX_LENGTH })
  @Field()
  @IsString()
  @IsOllamaModelName()
  model: string;
}

@ObjectType('NodeLoadedModel')
export class NodeLoadedModelDto {
  @ApiProperty() @Field() name: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Bytes of GPU memory it holds' })
  @Field(() => Float, { nullable: true })
  sizeVramBytes: number | null;
  @ApiProperty({ nullable: true, type: Date, description: 'When Ollama unloads it if unused' })
  @Field(() => Date, { nullable: true })
  expiresAt: Date | null;
  @ApiProperty({ description: 'Loaded with keep_alive -1: stays until unloaded' }) @Field() pinned: boolean;
}

@ObjectType('NodeInFlight')
export class NodeInFlightDto {
  @ApiProperty() @Field() model: string;
  @ApiProperty() @Field(() => Int) requests: number;
}

@ObjectType('OllamaNode')
export class NodeDto {
  @ApiProperty({ example: 'gpu-1-11434', description: 'Short id used in /admin/nodes/{nodeId}' }) @Field() id: string;
  @ApiProperty({ example: 'ollama:http://gpu-1:11434', description: 'The id in router metrics and route info' })
  @Field()
  providerId: string;
  @ApiProperty({ example: 'http://gpu-1:11434' }) @Field() url: string;
  @ApiProperty({ enum: ['static', 'dns'], description: 'From OLLAMA_URLS or OLLAMA_DNS' }) @Field() source: 'static' | 'dns';
  @ApiProperty() @Field() healthy: boolean;
  @ApiProperty({ enum: CIRCUIT_STATES, enumName: 'CircuitState' }) @Field(() => CircuitStateEnum) circuit: CircuitState;
  @ApiProperty({ nullable: true, type: Date, description: 'Last successful health check or /api/ps poll' })
  @Field(() => Date, { nullable: true })
  lastSeenAt: Date | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) lastError: string | null;
  @ApiProperty({ type: [String], description: 'Models on disk (/api/tags)' }) @Field(() => [String]) models: string[];
  @ApiProperty({ type: [NodeLoadedModelDto], description: 'Models in memory (/api/ps)' })
  @Field(() => [NodeLoadedModelDto])
  loaded: NodeLoadedModelDto[];
  @ApiProperty({ type: [NodeInFlightDto], description: 'Requests the router has running on the node, per model' })
  @Field(() => [NodeInFlightDto])
  inFlight: NodeInFlightDto[];
}
