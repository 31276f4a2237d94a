import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { AppConfig } from 'src/config/app-config';
import { apolloOptions } from 'src/graphql/graphql-options';
import { GraphqlWsServer } from 'src/graphql/graphql-ws.server';
import { AuthModule } from 'src/modules/auth/auth.module';

/**
 * The GraphQL API at /graphql (HTTP and graphql-ws), loaded with the `api` role. Resolvers
 * live beside the controllers in their feature modules and are found by Nest wherever they
 * are provided; this module only serves them.
 */
@Module({
  imports: [
    AuthModule,
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [AppConfig],
      useFactory: apolloOptions,
    }),
  ],
  providers: [GraphqlWsServer],
})
export class GraphqlModule {}
